use crate::domain::AccountView;
use crate::error::AppError;
use leptos::prelude::*;

/// The signed-in account, or `None`.
#[server(endpoint = "current_account")]
pub async fn current_account() -> Result<Option<AccountView>, AppError> {
    let request = crate::server::request::Request::current()?;
    Ok(request.account().await?.map(|a| a.view()))
}

/// Who is signed in, shared by the whole app; `refresh` after anything that
/// changes it (sign-in, sign-out, mode switch, application submitted).
#[derive(Clone, Copy)]
pub struct Session {
    pub account: Resource<Result<Option<AccountView>, AppError>>,
    version: RwSignal<u64>,
}

impl Session {
    pub fn refresh(&self) {
        self.version.update(|v| *v += 1);
    }

    /// The account if known and signed in (reactive).
    pub fn get(&self) -> Option<AccountView> {
        self.account.get().and_then(Result::ok).flatten()
    }
}

pub fn provide_session() -> Session {
    let version = RwSignal::new(0_u64);
    let account = Resource::new(move || version.get(), |_| current_account());
    let session = Session { account, version };
    provide_context(session);
    session
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// The signed-in merchant's time zone, provided by the dashboard layout.
#[derive(Clone, Copy)]
struct ZoneContext(Memo<crate::domain::time_zone::TimeZone>);

/// Called once by the layout that requires a signed-in account. A memo made
/// there, not a read of the session resource in each page: a page that read
/// the resource inside its own `<Transition>` would wait for it on the client
/// (showing the fallback) where the server had rendered the content, and
/// hydration would not match.
pub fn provide_time_zone() {
    let session = use_session();
    let zone = Memo::new(move |_| session.get().map(|account| account.time_zone).unwrap_or_default());
    provide_context(ZoneContext(zone));
}

/// The signed-in merchant's time zone (Asia/Tokyo until known): every
/// dashboard time is shown in it.
pub fn use_time_zone() -> Signal<crate::domain::time_zone::TimeZone> {
    match use_context::<ZoneContext>() {
        Some(ZoneContext(zone)) => zone.into(),
        None => Signal::derive(crate::domain::time_zone::TimeZone::default),
    }
}
