// <contact-form>: an element other sites embed with one script tag:
//
//   <script type="module" src="http://localhost:4000/contact-form.js"></script>
//   <contact-form></contact-form>
//
// It connects to the socket of the server it was loaded from (cross-origin:
// the server must allow the embedding site's origin) and sends send_contact
// {name, email, message}. The channel state {status, name} says whether the
// message was sent; validation problems come back as `error` events.
import { LitElement, html, css } from 'lit';
import { newLiveState, socketURL, errorMessage } from '../../web/live.js';

class ContactForm extends LitElement {
  static properties = {
    url: { type: String },
    transport: { type: String },
    form: { state: true },
    error: { state: true },
    reference: { state: true },
    // connecting | ready | sent | unavailable, reflected for styling and tests.
    status: { type: String, reflect: true },
  };

  constructor() {
    super();
    this.form = { status: 'open' };
    this.error = '';
    this.status = 'connecting';
  }

  connectedCallback() {
    super.connectedCallback();
    const ls = newLiveState({
      url: this.url ?? socketURL(import.meta.url),
      topic: 'contact_form:all',
      transport: this.transport,
    });
    ls.addEventListener('livestate-change', ({ detail: { state } }) => {
      this.form = state;
      this.status = state.status === 'sent' ? 'sent' : 'ready';
    });
    ls.addEventListener('livestate-error', ({ detail }) => {
      if (detail?.type === 'socket error' || detail?.type === 'channel error') {
        this.status = 'unavailable';
        return;
      }
      this.error = errorMessage(detail);
    });
    ls.addEventListener('contact_created', ({ detail }) => { this.reference = detail.id; });
    ls.connect();
    this.liveState = ls;
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.liveState?.disconnect();
  }

  submit(e) {
    e.preventDefault();
    const f = e.target.elements;
    this.error = '';
    this.liveState.pushEvent('send_contact', { name: f.name.value, email: f.email.value, message: f.message.value });
  }

  render() {
    if (this.form.status === 'sent') {
      return html`
        <div class="sent" role="status">
          <p><strong>Thanks, ${this.form.name}!</strong> We will get back to you soon.</p>
          ${this.reference ? html`<p class="ref">Reference ${this.reference}</p>` : ''}
          <button @click=${() => this.liveState.pushEvent('reset_form', {})}>Send another message</button>
        </div>`;
    }
    const down = this.status === 'unavailable';
    return html`
      <form @submit=${this.submit}>
        <h2>Contact us</h2>
        <label>Name <input name="name" autocomplete="name"></label>
        <label>Email <input name="email" type="text" inputmode="email" autocomplete="email"></label>
        <label>Message <textarea name="message" rows="4"></textarea></label>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
        ${down ? html`<p class="error unavailable" role="alert">The contact service cannot be reached from this site.</p>` : ''}
        <button ?disabled=${this.status !== 'ready'}>Send</button>
      </form>`;
  }

  static styles = css`
    :host { display: block; max-width: 26rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
            color: #1d2330; background: #fff; border: 1px solid #e4e0d8; border-radius: 12px; padding: 1.1rem 1.25rem; }
    h2 { font-size: 1.15rem; margin: 0 0 .6rem; }
    form { display: grid; gap: .6rem; }
    label { display: grid; gap: .2rem; font-size: 13px; color: #4b5563; }
    input, textarea { font: inherit; color: #1d2330; padding: .45rem .6rem; border: 1px solid #d5d9e0; border-radius: 8px; }
    button { justify-self: start; font: inherit; font-weight: 600; cursor: pointer; border: 0; border-radius: 8px;
             padding: .45rem 1.1rem; background: #0f766e; color: #fff; }
    button:disabled { opacity: .45; cursor: default; }
    .error { margin: 0; padding: .4rem .65rem; border-radius: 8px; background: #fdecea; color: #b42318; font-size: 14px; }
    .sent p { margin: 0 0 .6rem; }
    .ref { color: #6b7280; font-size: 13px; }
  `;
}

customElements.define('contact-form', ContactForm);
