//! Small pieces shared by pages.

pub mod form;
mod header;
mod hydration_marker;
mod language_switcher;
pub mod session;
mod share;

pub use header::SiteHeader;
pub use hydration_marker::HydrationMarker;
pub use language_switcher::{LanguageSwitcher, SetLocale};
pub use share::SharePanel;
