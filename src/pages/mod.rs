//! One module per screen.

mod home;
mod not_found;
mod signin;

pub use home::HomePage;
pub use not_found::NotFound;
pub use signin::SignInPage;
