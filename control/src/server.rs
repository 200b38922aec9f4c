//! The API socket: accepts connections (root-only file mode), forwards each request line to the
//! instance and writes its reply.

use crate::api::{Reply, Request};
use crate::daemon::ApiMsg;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};

pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(l)
}

pub async fn serve(l: UnixListener, tx: mpsc::Sender<ApiMsg>) {
    loop {
        let Ok((s, _)) = l.accept().await else {
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let (r, mut w) = s.into_split();
            let mut lines = BufReader::new(r).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let reply = match serde_json::from_str::<Request>(&line) {
                    Ok(req) => {
                        let (otx, orx) = oneshot::channel();
                        if tx.send((req, otx)).await.is_err() {
                            break;
                        }
                        orx.await
                            .unwrap_or(Reply::Error("daemon is shutting down".into()))
                    }
                    Err(e) => Reply::Error(format!("bad request: {e}")),
                };
                let mut out = serde_json::to_vec(&reply).unwrap_or_default();
                out.push(b'\n');
                if w.write_all(&out).await.is_err() {
                    break;
                }
            }
        });
    }
}
