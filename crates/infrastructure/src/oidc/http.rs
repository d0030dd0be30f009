//! The HTTP client `openidconnect` sends its requests with: reqwest 0.13, the version the rest of
//! the workspace uses. `openidconnect`'s own `reqwest` feature would pull in reqwest 0.12 and a
//! second HTTP and TLS stack; this shim of the crate's one-method trait is what it costs not to.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse, http};

/// How long one request to the provider may take: a sign-in waits for it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends the protocol's requests to the provider.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient(reqwest::Client);

impl HttpClient {
    /// A client that never follows redirects (the protocol's answers are never redirects, and
    /// following them would let a provider's answer send requests anywhere) and gives up after
    /// [`REQUEST_TIMEOUT`].
    pub(crate) fn new() -> Result<Self, reqwest::Error> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map(Self)
    }
}

/// Why a request to the provider failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    /// The request could not be sent or its answer read.
    #[error(transparent)]
    Reqwest(#[from] reqwest::Error),
    /// The answer could not be handed over.
    #[error(transparent)]
    Http(#[from] http::Error),
}

impl<'c> AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.0.execute(request.try_into()?).await?;
            let mut answer = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let body = response.bytes().await?;
            Ok(answer.body(body.to_vec())?)
        })
    }
}
