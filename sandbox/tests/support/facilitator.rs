//! The server under test, served over loopback HTTP by `serve_on`, for the suites that play
//! hosts against it (`#[path]`-included beside `common`).

use paywire_server::app::settings::Limits;
use tokio::sync::oneshot;

use crate::common::{Backend, TestApp};

/// The server under test, served over loopback HTTP.
pub(crate) struct Facilitator {
    pub(crate) app: TestApp,
    pub(crate) url: String,
    stop: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), String>>,
}

impl Facilitator {
    pub(crate) async fn start(backend: Backend) -> Self {
        let app = TestApp::new(backend).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(paywire_server::serve_on(
            listener,
            Limits::default(),
            app.server(),
            async move {
                let _ = stopped.await;
            },
        ));
        Facilitator {
            app,
            url,
            stop,
            serving,
        }
    }

    pub(crate) async fn finish(self) {
        let _ = self.stop.send(());
        self.serving.await.unwrap().unwrap();
        self.app.finish().await;
    }
}
