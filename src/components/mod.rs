//! Small pieces shared by pages.

mod header;
mod hydration_marker;
mod language_switcher;

pub use header::SiteHeader;
pub use hydration_marker::HydrationMarker;
pub use language_switcher::{LanguageSwitcher, SetLocale};
