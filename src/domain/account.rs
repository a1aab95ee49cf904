//! Accounts as the UI sees them: who is signed in, which mode, what they may do.

use super::Locale;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Whether money is real. Everything a merchant sees is scoped to one mode.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Test,
    Live,
}

impl Mode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }
}

impl FromStr for Mode {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "test" => Ok(Mode::Test),
            "live" => Ok(Mode::Live),
            _ => Err(()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sells through payment links.
    Merchant,
    /// Paylinks staff who approve live-mode applications.
    Reviewer,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Merchant => "merchant",
            Role::Reviewer => "reviewer",
        }
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "merchant" => Ok(Role::Merchant),
            "reviewer" => Ok(Role::Reviewer),
            _ => Err(()),
        }
    }
}

/// Where a merchant's live-mode application stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationStatus {
    /// Nothing saved yet.
    #[default]
    None,
    Draft,
    Submitted,
    Approved,
    Rejected,
}

impl ApplicationStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::None => "none",
            ApplicationStatus::Draft => "draft",
            ApplicationStatus::Submitted => "submitted",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
        }
    }

    /// The merchant may edit and (re)submit only before review or after a rejection.
    pub const fn editable(self) -> bool {
        matches!(self, ApplicationStatus::None | ApplicationStatus::Draft | ApplicationStatus::Rejected)
    }
}

impl FromStr for ApplicationStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "none" => Ok(Self::None),
            "draft" => Ok(Self::Draft),
            "submitted" => Ok(Self::Submitted),
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            _ => Err(()),
        }
    }
}

/// The signed-in account, as sent to the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub email: String,
    /// Handle of the merchant's public pages, e.g. `/legal/{public_id}`.
    pub public_id: String,
    pub business_name: String,
    pub role: Role,
    pub mode: Mode,
    pub locale: Locale,
    pub application: ApplicationStatus,
    /// Where the dashboard's clock is (default Asia/Tokyo).
    pub time_zone: super::time_zone::TimeZone,
    /// The holder opened the confirmation link we emailed to `email`.
    pub email_verified: bool,
}

impl AccountView {
    /// Live mode needs an approved application.
    pub fn can_go_live(&self) -> bool {
        self.application == ApplicationStatus::Approved
    }
}
