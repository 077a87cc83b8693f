"""The public invoice pay page: plain, accessible HTML that works on a phone (the look and the
Content-Security-Policy of ``api/pages.py``). One page: look the invoice up with its number and
access code, see what is owed, choose an amount (all of it or part), pay with a saved card or a
new one (Stripe.js on the practice's connected account)."""

from __future__ import annotations

import json
from html import escape

from therabill.api.pages import _BASE

_STYLE = """<style>
 table{width:100%;border-collapse:collapse;margin:.5rem 0} td,th{padding:.35rem .25rem;text-align:left;
 border-bottom:1px solid #ccc} td.num,th.num{text-align:right} td.num,td:first-child{white-space:nowrap}
 fieldset{border:1px solid #888;
 border-radius:6px;margin:1rem 0} input[type=number],input[type=text]{width:100%;padding:.6rem;
 font-size:1rem;box-sizing:border-box} .hidden{display:none} .balance{font-size:1.2rem;font-weight:700}
</style>"""


# Long on purpose: one HTML page with its script, kept whole so it reads as the page it is.
def pay_page(*, practice_name: str, base_path: str, stripe_js_url: str) -> str:
    config = json.dumps({"base": base_path})
    body = f"""
<h1>Pay an invoice to {escape(practice_name)}</h1>
<form id="lookup-form" novalidate>
  <p>Enter the invoice number and the 6-digit access code printed on your invoice.</p>
  <label for="invoice-number">Invoice number</label>
  <input type="text" id="invoice-number" name="number" autocomplete="off" autocapitalize="characters"
         placeholder="INV-000123" required aria-describedby="lookup-status">
  <label for="access-code">Access code</label>
  <input type="text" id="access-code" name="access_code" inputmode="numeric" autocomplete="one-time-code"
         maxlength="6" pattern="[0-9]{{6}}" required aria-describedby="lookup-status">
  <button type="submit" id="find-invoice">Find invoice</button>
  <div id="lookup-status" role="status" aria-live="polite"></div>
</form>
<section id="invoice" class="hidden" aria-labelledby="invoice-title">
  <h2 id="invoice-title"></h2>
  <p id="invoice-status"></p>
  <table aria-label="Invoice lines"><thead><tr><th>Date</th><th>Description</th>
    <th class="num">Amount</th></tr></thead><tbody id="lines"></tbody></table>
  <p>Total <span id="total"></span> · Paid <span id="paid"></span></p>
  <p class="balance">Balance due: <span id="balance"></span></p>
  <form id="pay-form" novalidate>
    <fieldset><legend>Amount</legend>
      <label><input type="radio" name="amount-choice" value="full" id="amount-full" checked>
        Pay the full balance</label>
      <label><input type="radio" name="amount-choice" value="other" id="amount-other">
        Pay another amount</label>
      <label for="amount" id="amount-label">Amount to pay</label>
      <input type="number" id="amount" name="amount" min="0.01" step="0.01" inputmode="decimal">
    </fieldset>
    <fieldset id="methods"><legend>Pay with</legend><div id="saved-cards"></div>
      <label><input type="radio" name="method" value="new" id="method-new" checked> A new card</label>
    </fieldset>
    <div id="new-card"><label for="card-element">Card</label>
      <div id="card-element" class="box" aria-describedby="card-help"></div>
      <p id="card-help">Enter the card number, expiry date and security code.</p></div>
    <button type="submit" id="pay">Pay</button>
  </form>
  <div id="status" role="status" aria-live="polite"></div>
</section>
<script>
const CONFIG = {config};
let TOKEN = null, VIEW = null, stripe = null, card = null;
const $ = (id) => document.getElementById(id);
function say(box, text, isError) {{ $(box).textContent = text; $(box).className = isError ? 'error' : ''; }}
function money(minor, view) {{
  const d = view.decimals, unit = Math.pow(10, d);
  const sign = minor < 0 ? '-' : ''; minor = Math.abs(minor);
  const whole = Math.floor(minor / unit), frac = String(minor % unit).padStart(d, '0');
  return sign + view.currency.toUpperCase() + ' ' + whole + (d ? '.' + frac : '');
}}
function toMinor(text, view) {{
  const m = /^\\s*(\\d+)(?:[.,](\\d+))?\\s*$/.exec(text || '');
  if (!m) return null;
  const frac = (m[2] || '');
  if (frac.length > view.decimals) return null;
  const scale = Math.pow(10, view.decimals);
  return parseInt(m[1], 10) * scale + parseInt((frac + '000').slice(0, view.decimals) || '0', 10);
}}
async function post(path, payload) {{
  const res = await fetch(CONFIG.base + path, {{method: 'POST',
    headers: {{'Content-Type': 'application/json'}}, body: JSON.stringify(payload)}});
  let data = {{}};
  try {{ data = await res.json(); }} catch (e) {{ data = {{message: 'Something went wrong.'}}; }}
  if (!res.ok) throw new Error(data.message || 'Something went wrong.');
  return data;
}}
function show(view) {{
  VIEW = view; TOKEN = view.token;
  $('invoice').classList.remove('hidden');
  $('invoice-title').textContent = 'Invoice ' + view.number;
  $('invoice-status').textContent = 'Status: ' + view.status_label + ' · due ' + view.due_date;
  const body = $('lines'); body.textContent = '';
  for (const line of view.lines) {{
    const tr = document.createElement('tr');
    for (const [text, cls] of [[line.date, ''], [line.description, ''], [money(line.amount, view), 'num']]) {{
      const td = document.createElement('td'); td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }}
    body.appendChild(tr);
  }}
  $('total').textContent = money(view.total, view); $('paid').textContent = money(view.paid, view);
  $('balance').textContent = money(view.balance, view);
  $('balance').dataset.minor = String(view.balance);
  $('amount').value = (view.balance / Math.pow(10, view.decimals)).toFixed(view.decimals);
  $('amount').max = $('amount').value;
  const saved = $('saved-cards'); saved.textContent = '';
  for (const c of view.cards) {{
    const label = document.createElement('label'); const input = document.createElement('input');
    input.type = 'radio'; input.name = 'method'; input.value = c.id; input.id = 'card-' + c.id;
    label.appendChild(input);
    label.appendChild(document.createTextNode(' Saved ' + c.brand + ' ending in ' + c.last4));
    saved.appendChild(label);
  }}
  $('pay-form').classList.toggle('hidden', !view.can_pay);
  if (view.can_pay && !stripe) {{
    stripe = Stripe(view.publishable_key, {{stripeAccount: view.stripe_account}});
    card = stripe.elements().create('card'); card.mount('#card-element');
  }}
}}
$('lookup-form').addEventListener('submit', async (e) => {{
  e.preventDefault(); say('lookup-status', 'Looking up…', false);
  try {{
    const view = await post('/lookup', {{number: $('invoice-number').value.trim(),
                                         access_code: $('access-code').value.trim()}});
    say('lookup-status', '', false); $('lookup-form').classList.add('hidden'); show(view);
  }} catch (err) {{ say('lookup-status', err.message, true); }}
}});
document.querySelectorAll('input[name=amount-choice]').forEach((r) => r.addEventListener('change', () => {{
  if ($('amount-full').checked) {{
    $('amount').value = (VIEW.balance / Math.pow(10, VIEW.decimals)).toFixed(VIEW.decimals);
  }}
}}));
$('amount').addEventListener('input', () => {{ $('amount-other').checked = true; }});
$('methods').addEventListener('change', () => {{
  $('new-card').classList.toggle('hidden', !$('method-new').checked);
}});
$('pay-form').addEventListener('submit', async (e) => {{
  e.preventDefault();
  const amount = $('amount-full').checked ? VIEW.balance : toMinor($('amount').value, VIEW);
  if (!amount || amount <= 0 || amount > VIEW.balance) {{
    say('status', 'Enter an amount between ' + money(1, VIEW) + ' and ' + money(VIEW.balance, VIEW) + '.',
        true);
    return;
  }}
  const checked = document.querySelector('input[name=method]:checked');
  const cardId = checked && checked.value !== 'new' ? checked.value : null;
  const button = $('pay'); button.disabled = true; say('status', 'Paying…', false);
  try {{
    const started = await post('/pay', {{token: TOKEN, amount: amount, card_id: cardId,
                                         request_id: crypto.randomUUID()}});
    if (started.client_secret) {{
      const result = await stripe.confirmCardPayment(started.client_secret,
                                                     {{payment_method: {{card: card}}}});
      if (result.error) throw new Error(result.error.message || 'The card was not accepted.');
      show(await post('/payments/' + started.payment_id + '/confirm', {{token: TOKEN}}));
    }} else if (started.status === 'succeeded') {{
      show(await post('/view', {{token: TOKEN}}));
    }} else {{
      throw new Error(started.message || 'The payment did not go through.');
    }}
    say('status', 'Thank you: your payment of ' + money(amount, VIEW) + ' was received.', false);
  }} catch (err) {{ say('status', err.message, true); }}
  button.disabled = false;
}});
</script>"""
    head = _STYLE + f'<script src="{escape(stripe_js_url)}"></script>'
    return _BASE.substitute(title=f"Pay an invoice · {escape(practice_name)}", head=head, body=body)
