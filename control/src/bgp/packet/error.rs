//! Decode errors map to protocol actions: a header or OPEN error is a NOTIFICATION to send
//! (RFC 4271 §6); UPDATE errors will carry their RFC 7606 action beside the message.

/// A NOTIFICATION's content: error code, subcode, data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

impl Notification {
    pub fn new(code: u8, subcode: u8, data: Vec<u8>) -> Self {
        Notification {
            code,
            subcode,
            data,
        }
    }
}

impl std::fmt::Display for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match (self.code, self.subcode) {
            (1, 1) => "message header error: connection not synchronized",
            (1, 2) => "message header error: bad message length",
            (1, 3) => "message header error: bad message type",
            (2, 1) => "OPEN error: unsupported version number",
            (2, 2) => "OPEN error: bad peer AS",
            (2, 3) => "OPEN error: bad BGP identifier",
            (2, 4) => "OPEN error: unsupported optional parameter",
            (2, 6) => "OPEN error: unacceptable hold time",
            (2, 7) => "OPEN error: unsupported capability",
            (3, _) => "UPDATE message error",
            (4, _) => "hold timer expired",
            (5, _) => "finite state machine error",
            (6, _) => "cease",
            (7, _) => "ROUTE-REFRESH message error",
            _ => "unknown error",
        };
        write!(f, "{name} ({}/{})", self.code, self.subcode)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// RFC 4271 §6.1: send this NOTIFICATION and close.
    #[error("bad message header: {0}")]
    Header(Notification),
    /// RFC 4271 §6.2: send this NOTIFICATION and close.
    #[error("bad OPEN: {0}")]
    Open(Notification),
    #[error("bad NOTIFICATION: too short")]
    NotificationShort,
    #[error("bad ROUTE-REFRESH: {0}")]
    RouteRefresh(Notification),
}

impl DecodeError {
    /// The NOTIFICATION this error calls for, if any.
    pub fn notification(&self) -> Option<&Notification> {
        match self {
            DecodeError::Header(n) | DecodeError::Open(n) | DecodeError::RouteRefresh(n) => Some(n),
            DecodeError::NotificationShort => None, // never answer a NOTIFICATION
        }
    }
}
