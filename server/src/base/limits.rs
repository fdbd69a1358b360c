//! What one request may carry: the sizes the connection loop, the body reader and the errors
//! that refuse them share.

/// The largest request body accepted, in bytes (a payment is about 2 KB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The most header bytes a request may carry (answered 431 in the API's JSON shape).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most header fields a request may carry.
pub const MAX_HEADER_COUNT: usize = 100;
/// hyper's read buffer: requests whose head exceeds it get hyper's own bodiless 431, before
/// any of this server's code runs; below it, [`MAX_HEADER_BYTES`] answers in JSON.
pub const MAX_READ_BUFFER: usize = 256 * 1024;
