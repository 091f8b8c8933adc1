// <contact-form>: a dependency-free custom element other sites embed with
// one script tag:
//
//   <script type="module" src="http://localhost:4010/contact-form.js"></script>
//   <contact-form></contact-form>
//
// It joins contact:form on the server it was loaded from and sends
// save_contact {name, email, phone}. The channel state is
// {errors: {field: message}, saved: contact|null}: what the store refused is
// shown beside its field. The status attribute (connecting, ready, invalid,
// saved, unavailable) is there for styling and tests.
import { newLiveState, socketURL, errorMessage } from '../../web/live.js';

const FIELDS = [
  { name: 'name', label: 'Name', type: 'text', autocomplete: 'name' },
  { name: 'email', label: 'Email', type: 'email', autocomplete: 'email' },
  { name: 'phone', label: 'Phone', type: 'tel', autocomplete: 'tel' },
];

const STYLE = `
  :host { display: block; max-width: 26rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
          color: #1d2330; background: #fff; border: 1px solid #e4e0d8; border-radius: 12px; padding: 1.1rem 1.25rem; }
  h2 { font-size: 1.15rem; margin: 0 0 .6rem; }
  form { display: grid; gap: .5rem; }
  label { display: grid; gap: .2rem; font-size: 13px; color: #4b5563; }
  input { font: inherit; color: #1d2330; padding: .45rem .6rem; border: 1px solid #d5d9e0; border-radius: 8px; }
  input[aria-invalid=true] { border-color: #b42318; }
  .error { margin: 0; color: #b42318; font-size: 13px; }
  .error.form { padding: .4rem .65rem; border-radius: 8px; background: #fdecea; }
  button { justify-self: start; font: inherit; font-weight: 600; cursor: pointer; border: 0; border-radius: 8px;
           padding: .45rem 1.1rem; background: #0f766e; color: #fff; }
  button:disabled { opacity: .45; cursor: default; }
  [hidden] { display: none !important; }
`;

class ContactForm extends HTMLElement {
  connectedCallback() {
    if (this.liveState) return;
    const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${STYLE}</style>
      <form novalidate>
        <h2>Contact us</h2>
        ${FIELDS.map((f) => `
          <label>${f.label} <input name="${f.name}" type="${f.type}" autocomplete="${f.autocomplete}"
            aria-describedby="${f.name}-error"></label>
          <p class="error" id="${f.name}-error" data-for="${f.name}" hidden></p>`).join('')}
        <p class="error form" role="alert" hidden></p>
        <button type="submit" disabled>Save</button>
      </form>
      <div class="saved" role="status" hidden>
        <p>Thanks, <strong class="who"></strong>! Saved as contact <span class="id"></span>.</p>
        <button type="button" class="again">Add another contact</button>
      </div>`;
    this.form = root.querySelector('form');
    this.formError = root.querySelector('.error.form');
    this.setAttribute('status', 'connecting');

    const ls = newLiveState({
      url: this.getAttribute('url') ?? socketURL(import.meta.url),
      topic: 'contact:form',
      transport: this.getAttribute('transport') ?? undefined,
    });
    ls.addEventListener('livestate-change', ({ detail: { state } }) => this.show(state));
    ls.addEventListener('livestate-error', ({ detail }) => {
      if (detail?.type === 'socket error' || detail?.type === 'channel error') {
        this.setAttribute('status', 'unavailable');
        this.showFormError('The contact service cannot be reached from this site.');
        this.form.querySelector('button').disabled = true;
        return;
      }
      this.showFormError(errorMessage(detail));
    });
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.showFormError('');
      const v = (name) => this.form.elements[name].value;
      ls.pushEvent('save_contact', { name: v('name'), email: v('email'), phone: v('phone') });
    });
    root.querySelector('.again').addEventListener('click', () => {
      this.form.reset();
      ls.pushEvent('new_contact', {});
    });
    ls.connect();
    this.liveState = ls;
  }

  disconnectedCallback() {
    this.liveState?.disconnect();
    this.liveState = undefined;
  }

  showFormError(text) {
    this.formError.textContent = text;
    this.formError.hidden = !text;
  }

  show({ errors = {}, saved = null }) {
    const root = this.shadowRoot;
    for (const { name } of FIELDS) {
      const msg = errors[name] ?? '';
      const p = root.querySelector(`.error[data-for=${name}]`);
      p.textContent = msg;
      p.hidden = !msg;
      this.form.elements[name].setAttribute('aria-invalid', String(Boolean(msg)));
    }
    this.form.querySelector('button').disabled = false;
    this.form.hidden = Boolean(saved);
    const done = root.querySelector('.saved');
    done.hidden = !saved;
    if (saved) {
      done.querySelector('.who').textContent = saved.name;
      done.querySelector('.id').textContent = `#${saved.id}`;
    }
    this.setAttribute('status', saved ? 'saved' : Object.keys(errors).length ? 'invalid' : 'ready');
  }
}

customElements.define('contact-form', ContactForm);
