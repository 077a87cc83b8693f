"""The public pages: plain, accessible HTML that works on a phone. Values are escaped; scripts are
limited by a Content-Security-Policy to Stripe.js and the page itself."""

from __future__ import annotations

import json
from html import escape
from string import Template
from urllib.parse import urlsplit

_BASE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<link rel="icon" href="data:,">
<style>
 body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:34rem;margin:0 auto;
      padding:1rem;line-height:1.5;color:#1a1a1a}
 h1{font-size:1.4rem} .box{border:1px solid #888;border-radius:6px;padding:.75rem;margin:1rem 0}
 label{display:block;margin:.75rem 0 .25rem;font-weight:600}
 input[type=text]{width:100%;padding:.6rem;font-size:1rem;box-sizing:border-box}
 button{font-size:1.05rem;padding:.7rem 1.2rem;margin-top:1rem;cursor:pointer}
 .consent{background:#f4f4f4;padding:.75rem;border-radius:6px}
 #status{margin-top:1rem;font-weight:600} .error{color:#a00000}
 .facts{display:grid;grid-template-columns:auto 1fr;gap:.25rem .75rem}
 .facts dt{font-weight:600} .facts dd{margin:0}
 .practice{margin:0;color:#555;font-weight:600} #next-step a{overflow-wrap:anywhere}
</style>
$head
</head>
<body>
<main>
$body
</main>
</body>
</html>""")


def csp(stripe_js_url: str) -> str:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(stripe_js_url))
    return (
        f"default-src 'self'; script-src 'self' 'unsafe-inline' {origin}; "
        f"connect-src 'self' {origin}; frame-src {origin}; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'"
    )


def notice_page(
    *, title: str, happened: str, next_step: str, practice_name: str | None, email: str | None
) -> str:
    """A page's state in words: what happened and what to do next, ending with the practice's
    email (a mailto link) when the practice is known."""
    contact = ""
    if email:
        contact = f' <a href="mailto:{escape(email, quote=True)}">{escape(email)}</a>'
    heading = f"{escape(title)} · {escape(practice_name)}" if practice_name else escape(title)
    body = (
        (f'<p class="practice">{escape(practice_name)}</p>' if practice_name else "")
        + f'<h1>{escape(title)}</h1><p role="status">{escape(happened)}</p>'
        + f'<p id="next-step">{escape(next_step)}{contact}</p>'
    )
    return _BASE.substitute(title=heading, head="", body=body)


# Long on purpose: one HTML page with its script, kept whole so it reads as the page it is.
def setup_page(
    *,
    practice_name: str,
    first_name: str,
    consent_text: str,
    consent_version: str,
    stripe_js_url: str,
    intent_path: str,
    publishable_key: str,
    account: str,
) -> str:
    config = json.dumps(
        {"intentPath": intent_path, "version": consent_version, "pk": publishable_key, "account": account}
    )
    body = f"""
<h1>Save a card with {escape(practice_name)}</h1>
<p>Hello {escape(first_name)}. Your card is stored securely by our payment processor; we never see
its number.</p>
<form id="setup-form" novalidate>
  <label for="signer-name">Your full name</label>
  <input type="text" id="signer-name" name="signer_name" autocomplete="name" required>
  <label for="card-element">Card</label>
  <div id="card-element" class="box" aria-describedby="card-help"></div>
  <p id="card-help">Enter the card number, expiry date and security code.</p>
  <div class="consent" id="consent-text">{escape(consent_text)}</div>
  <label><input type="checkbox" id="agree" name="agree"> I agree to the authorization above</label>
  <button type="submit" id="save-card">Save card</button>
  <div id="status" role="status" aria-live="polite"></div>
</form>
<script>
const CONFIG = {config};
const statusBox = document.getElementById('status');
function show(text, isError) {{
  statusBox.textContent = text; statusBox.className = isError ? 'error' : '';
}}
let stripe = null, card = null;
async function start() {{
  const res = await fetch(CONFIG.intentPath, {{method: 'POST',
    headers: {{'Content-Type': 'application/json'}},
    body: JSON.stringify({{signer_name: document.getElementById('signer-name').value,
                          agreed: document.getElementById('agree').checked,
                          text_version: CONFIG.version}})}});
  const data = await res.json();
  if (!res.ok) throw new Error(data.message || 'The card could not be saved.');
  return data;
}}
function mountCard(publishableKey, account) {{
  stripe = Stripe(publishableKey, {{stripeAccount: account}});
  card = stripe.elements().create('card');
  card.mount('#card-element');
}}
mountCard(CONFIG.pk, CONFIG.account);
document.getElementById('setup-form').addEventListener('submit', async (e) => {{
  e.preventDefault();
  const button = document.getElementById('save-card');
  button.disabled = true; show('Saving…', false);
  try {{
    const data = await start();
    const result = await stripe.confirmCardSetup(data.client_secret, {{
      payment_method: {{card: card, billing_details: {{name: document.getElementById('signer-name').value}}}}
    }});
    if (result.error) throw new Error(result.error.message || 'The card was not accepted.');
    show('Your card has been saved. You can close this page.', false);
    document.getElementById('setup-form').dataset.done = 'true';
  }} catch (err) {{
    show(err.message, true); button.disabled = false;
  }}
}});
</script>"""
    head = f'<script src="{escape(stripe_js_url)}"></script>'
    return _BASE.substitute(title=f"Save a card · {escape(practice_name)}", head=head, body=body)


# What a charge is for, as the authentication page says it (the kind only: never a code or a note).
CHARGE_KINDS = {
    "copay": "a copay",
    "session_fee": "a session fee",
    "cancellation_fee": "a cancellation or missed-appointment fee",
    "balance": "a payment towards your balance",
    "product": "a purchase",
    "deposit": "a booking deposit",
    "prepayment": "a booking prepayment",
    "invoice": "an invoice payment",
    "order": "a purchase",
}
_BRANDS = {"amex": "American Express", "diners": "Diners Club", "jcb": "JCB", "unionpay": "UnionPay"}


def card_text(brand: str, last4: str) -> str:
    """``visa``, ``4242`` → ``Visa ending in 4242``."""
    return f"{_BRANDS.get(brand, brand.title() or 'Card')} ending in {last4}"


def authenticate_page(
    *,
    practice_name: str,
    amount_text: str,
    charge: str,
    date_text: str,
    card_text: str,
    client_secret: str,
    payment_method_id: str,
    publishable_key: str,
    account: str,
    stripe_js_url: str,
) -> str:
    """Confirm an off-session charge the bank wants its cardholder to approve: who charges, for
    what, when, how much and on which card."""
    config = json.dumps(
        {"pk": publishable_key, "account": account, "secret": client_secret, "pm": payment_method_id}
    )
    body = f"""
<h1>Confirm your payment to {escape(practice_name)}</h1>
<p>Your bank asks you to confirm this payment before it is made.</p>
<dl class="facts">
  <dt>To</dt><dd id="to">{escape(practice_name)}</dd>
  <dt>For</dt><dd id="for">{escape(charge[:1].upper() + charge[1:])}</dd>
  <dt>Date</dt><dd id="date">{escape(date_text)}</dd>
  <dt>Amount</dt><dd id="amount"><strong>{escape(amount_text)}</strong></dd>
  <dt>Card</dt><dd id="card">{escape(card_text)}</dd>
</dl>
<button type="button" id="confirm">Confirm payment</button>
<div id="status" role="status" aria-live="polite"></div>
<script>
const CONFIG = {config};
const stripe = Stripe(CONFIG.pk, {{stripeAccount: CONFIG.account}});
document.getElementById('confirm').addEventListener('click', async () => {{
  const box = document.getElementById('status');
  box.textContent = 'Confirming…';
  const result = await stripe.confirmCardPayment(CONFIG.secret, {{payment_method: CONFIG.pm}});
  if (result.error) {{ box.textContent = result.error.message || 'The payment was not confirmed.';
                       box.className = 'error'; return; }}
  box.textContent = 'Thank you: your payment is confirmed.'; box.className = '';
}});
</script>"""
    head = f'<script src="{escape(stripe_js_url)}"></script>'
    return _BASE.substitute(title=f"Confirm payment · {escape(practice_name)}", head=head, body=body)


# Long on purpose: one HTML page with its script, kept whole so it reads as the page it is.
def booking_pay_page(
    *,
    practice_name: str,
    amount_text: str,
    what: str,
    when: str,
    expires: str,
    client_secret: str,
    publishable_key: str,
    account: str,
    stripe_js_url: str,
    status_path: str,
) -> str:
    """Pay a booking's deposit or prepayment: Stripe.js confirms the PaymentIntent with a card
    entered here; the booking is confirmed by Stripe's webhook, which the page waits for."""
    config = json.dumps(
        {"pk": publishable_key, "account": account, "secret": client_secret, "statusPath": status_path}
    )
    body = f"""
<h1>Confirm your appointment with {escape(practice_name)}</h1>
<p>Your appointment on <strong>{escape(when)}</strong> is held for you until {escape(expires)}.
To confirm it, pay {escape(what)} of <strong id="amount">{escape(amount_text)}</strong>.</p>
<form id="pay-form" novalidate>
  <label for="payer-name">Name on the card</label>
  <input type="text" id="payer-name" name="payer_name" autocomplete="cc-name" required>
  <label for="card-element">Card</label>
  <div id="card-element" class="box" aria-describedby="card-help"></div>
  <p id="card-help">Enter the card number, expiry date and security code. We never see the number.</p>
  <button type="submit" id="pay">Pay {escape(amount_text)}</button>
  <div id="status" role="status" aria-live="polite"></div>
</form>
<script>
const CONFIG = {config};
const statusBox = document.getElementById('status');
function show(text, isError) {{
  statusBox.textContent = text; statusBox.className = isError ? 'error' : '';
}}
const stripe = Stripe(CONFIG.pk, {{stripeAccount: CONFIG.account}});
const card = stripe.elements().create('card');
card.mount('#card-element');
async function waitForConfirmation() {{
  for (let i = 0; i < 30; i++) {{
    const res = await fetch(CONFIG.statusPath, {{headers: {{'Accept': 'application/json'}}}});
    const data = await res.json().catch(() => ({{}}));
    if (data.status === 'confirmed') {{
      show('Thank you: your appointment is confirmed. A confirmation is on its way by email.', false);
      document.getElementById('pay-form').dataset.done = 'confirmed';
      return;
    }}
    if (data.status === 'released') {{
      show('Your payment was received, but the appointment had been released: ' +
           'the practice will contact you.', true);
      return;
    }}
    await new Promise(r => setTimeout(r, 1000));
  }}
  show('Thank you: your payment was received. Your confirmation will follow by email.', false);
  document.getElementById('pay-form').dataset.done = 'paid';
}}
document.getElementById('pay-form').addEventListener('submit', async (e) => {{
  e.preventDefault();
  const button = document.getElementById('pay');
  button.disabled = true; show('Paying…', false);
  const result = await stripe.confirmCardPayment(CONFIG.secret, {{
    payment_method: {{card: card, billing_details: {{name: document.getElementById('payer-name').value}}}}
  }});
  if (result.error) {{
    show(result.error.message || 'The payment was not accepted.', true); button.disabled = false; return;
  }}
  show('Payment received. Confirming your appointment…', false);
  await waitForConfirmation();
}});
</script>"""
    head = f'<script src="{escape(stripe_js_url)}"></script>'
    return _BASE.substitute(title=f"Confirm your appointment · {escape(practice_name)}", head=head, body=body)
