//! What goes wrong on a page: problems shown beside the fields they concern (the API's own
//! messages), and whole-page errors (not found, a form from elsewhere).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::actions::{ApiError, FieldError};

use super::frame::Frame;

/// Problems with a submitted form, each beside its field when the API names one.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub(crate) general: Vec<String>,
    fields: Vec<(String, String)>,
}

impl Problems {
    pub(crate) fn one(message: impl Into<String>) -> Problems {
        Problems {
            general: vec![message.into()],
            fields: Vec::new(),
        }
    }

    /// Every problem as a general one: for a page whose forms have no field of that name.
    pub(crate) fn all_general(mut self) -> Problems {
        self.general
            .extend(self.fields.drain(..).map(|(_, message)| message));
        self
    }

    /// The first problem with `field`, if any.
    pub(crate) fn field(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, message)| message.as_str())
    }

    /// An API error as the page shows it, and the status the page is sent with. Not found stays a
    /// whole-page error.
    pub(crate) fn from_api(error: ApiError) -> Result<(StatusCode, Problems), PageError> {
        let (status, errors) = match error {
            ApiError::NotFound => return Err(PageError::NotFound),
            ApiError::NotAuthorized => (
                StatusCode::FORBIDDEN,
                vec![FieldError {
                    message: "That belongs to someone else.".into(),
                    field: None,
                }],
            ),
            other => other.parts(),
        };
        let mut problems = Problems::default();
        for error in errors {
            match error.field {
                Some(field) => problems.fields.push((field, error.message)),
                None => problems.general.push(error.message),
            }
        }
        Ok((status, problems))
    }
}

/// A page that cannot be shown at all.
#[derive(Debug)]
pub(crate) enum PageError {
    NotFound,
    /// A form without this visitor's CSRF token, or sent from another site.
    Forbidden,
    /// A form body that could not be read.
    BadForm,
    /// A staff page asked for by someone signed in without being staff.
    StaffOnly,
    /// A fault of ours, or a part of the node that is not there; the detail is logged.
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::NotFound => PageError::NotFound,
            other => PageError::Api(other),
        }
    }
}

impl From<redb::Error> for PageError {
    fn from(error: redb::Error) -> Self {
        PageError::Api(error.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    frame: Frame,
    heading: String,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut retry_after = None;
        let (status, heading, message) = match self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found".to_owned(),
                "There is nothing here. The ticket or order may have been removed, or the link is mistyped.".to_owned(),
            ),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "This form has expired".to_owned(),
                "For your safety the form was not accepted. Please go back, reload the page and try again.".to_owned(),
            ),
            PageError::BadForm => (
                StatusCode::BAD_REQUEST,
                "The form could not be read".to_owned(),
                "Please go back and try again.".to_owned(),
            ),
            PageError::StaffOnly => (
                StatusCode::FORBIDDEN,
                "For the venue's staff".to_owned(),
                "This page is for staff. Sign out and sign in with a staff account to use it.".to_owned(),
            ),
            PageError::Api(error) => {
                retry_after = error.retry_after();
                let (status, errors) = error.parts();
                let message = errors
                    .into_iter()
                    .map(|e| e.message)
                    .collect::<Vec<_>>()
                    .join(" ");
                (status, "Something went wrong".to_owned(), message)
            }
        };
        let page = ErrorPage {
            frame: Frame::anonymous(),
            heading,
            message,
        };
        let mut response = match page.render() {
            Ok(html) => (
                status,
                [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response(),
            Err(_) => status.into_response(),
        };
        if let Some(wait) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                crate::actions::retry_after_value(wait),
            );
        }
        response
    }
}

/// `response` with `Retry-After` when the refusal named a wait (a limit on attempts).
pub(crate) fn with_retry_after(
    mut response: Response,
    wait: Option<std::time::Duration>,
) -> Response {
    if let Some(wait) = wait {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            crate::actions::retry_after_value(wait),
        );
    }
    response
}
