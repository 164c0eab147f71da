//! A blocking JSON-lines client (Contract 2) with its own request ids, for tests that talk to a
//! node directly — also in ways a well-behaved client would not (raw bytes, half-closed
//! connections, pipelined lines).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Error, ErrorKind, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a response may take before `recv` fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    next_id: u64,
}

impl Client {
    /// Connects within [`CONNECT_TIMEOUT`]; responses may take up to [`READ_TIMEOUT`].
    pub fn connect(addr: impl ToSocketAddrs) -> std::io::Result<Client> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| Error::new(ErrorKind::InvalidInput, "no address to connect to"))?;
        let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            stream,
            next_id: 0,
        })
    }

    /// Sends `req` (an object; its `id` is set here) and waits for its response, which must
    /// carry the same id.
    pub fn call(&mut self, mut req: Value) -> std::io::Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        req["id"] = json!(id);
        let mut line = serde_json::to_vec(&req)?;
        line.push(b'\n');
        self.send(&line)?;
        let r = self.recv()?;
        if r["id"] != json!(id) {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("response {r} does not match request {id}"),
            ));
        }
        Ok(r)
    }

    /// Sends raw bytes: any number of lines, or part of one.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
        self.stream.write_all(bytes.as_ref())
    }

    /// Reads one response line.
    pub fn recv(&mut self) -> std::io::Result<Value> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(Error::new(ErrorKind::UnexpectedEof, "connection closed"));
        }
        serde_json::from_str(&line).map_err(|e| {
            Error::new(
                ErrorKind::InvalidData,
                format!("bad response {line:?}: {e}"),
            )
        })
    }

    /// Closes the sending half: the node sees the end of the stream.
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}
