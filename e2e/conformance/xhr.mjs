// A minimal XMLHttpRequest on top of fetch, for the phoenix.js versions
// whose long-poll transport has no fetch fallback (1.6 and 1.7): it covers
// exactly what their Ajax uses (open, setRequestHeader, timeout, send,
// abort, readyState/status/responseText, onreadystatechange, onerror,
// ontimeout). Importing this module installs it — import it FIRST, before
// phoenix: those builds read `self` (their idea of the global object) when
// they are evaluated. It is imported only by the process that tests those
// clients, so phoenix 1.8 keeps using fetch elsewhere.
export class XMLHttpRequestShim {
  constructor() {
    this.readyState = 0;
    this.status = 0;
    this.responseText = '';
    this.timeout = 0;
    this.headers = {};
    this.controller = new AbortController();
  }

  open(method, url) {
    this.method = method;
    this.url = url;
    this.readyState = 1;
  }

  setRequestHeader(name, value) {
    this.headers[name] = value;
  }

  abort() {
    this.aborted = true;
    this.controller.abort();
  }

  send(body) {
    const timer = this.timeout > 0
      ? setTimeout(() => { this.timedOut = true; this.controller.abort(); }, this.timeout)
      : null;
    const init = { method: this.method, headers: this.headers, signal: this.controller.signal };
    if (this.method !== 'GET' && body != null) init.body = body;
    fetch(this.url, init)
      .then(async (res) => {
        this.status = res.status;
        this.responseText = await res.text();
      })
      .then(() => {
        clearTimeout(timer);
        this.readyState = 4;
        this.onreadystatechange?.();
      }, () => {
        clearTimeout(timer);
        if (this.aborted) return;
        if (this.timedOut) this.ontimeout?.();
        else this.onerror?.();
      });
  }
}

globalThis.self ??= globalThis;
globalThis.XMLHttpRequest = XMLHttpRequestShim;
