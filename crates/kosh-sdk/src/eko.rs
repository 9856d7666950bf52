use kosh_core::clock::{Clock, SystemClock};
use kosh_core::signing;
use serde_json::Value;

/// A partner's Eko credentials. `Debug` leaves the access key out, so logging a
/// client or a configuration cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub developer_key: String,
    pub access_key: String,
    pub initiator_id: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("developer_key", &self.developer_key)
            .field("access_key", &format_args!("{}", kosh_core::secret::REDACTED))
            .field("initiator_id", &self.initiator_id)
            .finish()
    }
}

/// The headers that authenticate one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub developer_key: String,
    pub secret_key: String,
    pub secret_key_timestamp: String,
}

impl Credentials {
    /// The public sandbox credentials from the vendor's documentation.
    pub fn sandbox() -> Credentials {
        Credentials {
            developer_key: "becbbce45f79c6f5109f848acd540567".into(),
            access_key: "d2fe1d99-6298-4af2-8cc5-d97dcf46df30".into(),
            initiator_id: "9962981729".into(),
        }
    }

    pub fn sign(&self, timestamp_ms: i64) -> SignedHeaders {
        let ts = timestamp_ms.to_string();
        SignedHeaders {
            developer_key: self.developer_key.clone(),
            secret_key: signing::secret_key(&self.access_key, &ts),
            secret_key_timestamp: ts,
        }
    }

    /// `request_hash` over the timestamp and `fields`, in the API's documented order.
    pub fn request_hash(&self, timestamp_ms: i64, fields: &[&str]) -> String {
        signing::request_hash(&self.access_key, &timestamp_ms.to_string(), fields)
    }
}

/// An answer: HTTP status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// A small Eko client: signs every request with the current time.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    credentials: Credentials,
}

impl Client {
    /// `base_url` includes the API prefix, e.g. `http://127.0.0.1:8080/ekoapi/v1`.
    pub fn new(base_url: impl Into<String>, credentials: Credentials) -> Client {
        Client { http: reqwest::Client::new(), base_url: base_url.into(), credentials }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    fn signed(&self, builder: reqwest::RequestBuilder, request_hash: Option<(i64, String)>) -> reqwest::RequestBuilder {
        let now = request_hash.as_ref().map_or_else(|| SystemClock.now_ms(), |(ts, _)| *ts);
        let headers = self.credentials.sign(now);
        let builder = builder
            .header("developer_key", headers.developer_key)
            .header("secret-key", headers.secret_key)
            .header("secret-key-timestamp", headers.secret_key_timestamp);
        match request_hash {
            Some((_, hash)) => builder.header("request_hash", hash),
            None => builder,
        }
    }

    /// `GET path?initiator_id=…&query…`.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Answer, reqwest::Error> {
        let mut pairs = vec![("initiator_id", self.credentials.initiator_id.as_str())];
        pairs.extend_from_slice(query);
        let req = self.http.get(format!("{}{path}", self.base_url)).query(&pairs);
        answer(self.signed(req, None).send().await?).await
    }

    /// A form-urlencoded write (`PUT`/`POST`), with `initiator_id` added.
    pub async fn send_form(&self, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Result<Answer, reqwest::Error> {
        let mut pairs = vec![("initiator_id", self.credentials.initiator_id.as_str())];
        pairs.extend_from_slice(form);
        let req = self.http.request(method, format!("{}{path}", self.base_url)).form(&pairs);
        answer(self.signed(req, None).send().await?).await
    }

    /// A JSON write, signed with `request_hash` over `hash_fields` when given.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        hash_fields: Option<&[&str]>,
    ) -> Result<Answer, reqwest::Error> {
        let hash = hash_fields.map(|fields| {
            let ts = SystemClock.now_ms();
            (ts, self.credentials.request_hash(ts, fields))
        });
        let req = self.http.request(method, format!("{}{path}", self.base_url)).json(body);
        answer(self.signed(req, hash).send().await?).await
    }
}

async fn answer(response: reqwest::Response) -> Result<Answer, reqwest::Error> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    Ok(Answer { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_the_catalogue_vector() {
        let headers = Credentials::sandbox().sign(1_700_000_000_000);
        assert_eq!(headers.secret_key, "qIir8tILHtqxO1Mu3/fC3pVElIa0oIxXMRDUP0463Bc=");
        assert_eq!(headers.secret_key_timestamp, "1700000000000");
        let hash = Credentials::sandbox().request_hash(1_700_000_000_000, &["151627591", "50", "20810200"]);
        assert_eq!(hash, "TO65c2+vieXFx4+yDLN50NoAHe1fnfyWfIAB2NJkiNc=");
    }

    #[test]
    fn debug_never_shows_the_access_key() {
        let credentials = Credentials::sandbox();
        let client = Client::new("http://127.0.0.1:1/ekoapi/v1", credentials.clone());
        for text in [format!("{credentials:?}"), format!("{:?}", client.credentials())] {
            assert!(!text.contains(&credentials.access_key), "{text}");
            assert!(text.contains("<redacted>") && text.contains(&credentials.developer_key), "{text}");
        }
    }
}
