"""The public store page: plain, accessible HTML that works on a phone (the look and the
Content-Security-Policy of ``api/pages.py``). The items recommended first, then the rest of the
catalogue, each with a labelled quantity; the total as it changes; pay with the saved card (when
its consent covers products) or a new one (Stripe.js on the practice's connected account)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape

from therabill.api.pages import _BASE

_STYLE = """<style>
 fieldset{border:1px solid #888;border-radius:6px;margin:1rem 0;padding:.5rem .75rem}
 .item{border-bottom:1px solid #ddd;padding:.5rem 0} .item:last-child{border-bottom:0}
 .item h3{font-size:1.05rem;margin:.2rem 0} .item p{margin:.2rem 0}
 .item input[type=number]{width:5rem;padding:.5rem;font-size:1rem}
 .eligible{font-size:.85rem;background:#e6f2e6;border-radius:4px;padding:0 .3rem}
 .total{font-size:1.2rem;font-weight:700} .hidden{display:none}
</style>"""


@dataclass(frozen=True)
class ShelfItem:
    id: str
    name: str
    description: str
    price: int
    price_text: str
    tax_rate_bps: int
    eligible: bool
    available: int
    recommended: int


def _item(item: ShelfItem) -> str:
    most = min(item.available, 99)
    stock = f"{item.available} available" if item.available else "Out of stock"
    mark = ' <span class="eligible">HSA/FSA eligible</span>' if item.eligible else ""
    return f"""<div class="item">
  <h3 id="name-{item.id}">{escape(item.name)}{mark}</h3>
  <p>{escape(item.description)}</p>
  <p>{escape(item.price_text)} each · {stock}</p>
  <label for="qty-{item.id}">Quantity of {escape(item.name)}</label>
  <input type="number" id="qty-{item.id}" data-product="{item.id}" min="0" max="{most}" step="1"
         inputmode="numeric" value="{min(item.recommended, most)}"{" disabled" if not most else ""}>
</div>"""


# Long on purpose: one HTML page with its script, kept whole so it reads as the page it is.
def store_page(
    *,
    practice_name: str,
    party_name: str,
    recommended: list[ShelfItem],
    others: list[ShelfItem],
    saved_card: str | None,
    currency: str,
    decimals: int,
    base_path: str,
    publishable_key: str,
    account: str,
    stripe_js_url: str,
) -> str:
    config = json.dumps(
        {
            "base": base_path,
            "pk": publishable_key,
            "account": account,
            "currency": currency,
            "decimals": decimals,
            "prices": {i.id: [i.price, i.tax_rate_bps] for i in [*recommended, *others]},
        }
    )
    first = "".join(_item(i) for i in recommended) or "<p>No items were recommended.</p>"
    rest = "".join(_item(i) for i in others)
    saved = (
        f'<label><input type="radio" name="method" value="saved_card" id="method-saved" checked>'
        f" Saved {escape(saved_card)}</label>"
        if saved_card
        else ""
    )
    body = f"""
<p class="practice">{escape(practice_name)}</p>
<h1>Items recommended for you</h1>
<p>For {escape(party_name)}. Choose how many of each you would like, then pay.</p>
<form id="order-form" novalidate>
  <fieldset><legend>Recommended for you</legend>{first}</fieldset>
  {f"<fieldset><legend>More from {escape(practice_name)}</legend>{rest}</fieldset>" if rest else ""}
  <p class="total">Total: <span id="total" aria-live="polite"></span></p>
  <fieldset id="methods"><legend>Pay with</legend>{saved}
    <label><input type="radio" name="method" value="new_card" id="method-new"{"" if saved else " checked"}>
      A new card</label>
  </fieldset>
  <div id="new-card"{' class="hidden"' if saved else ""}><label for="card-element">Card</label>
    <div id="card-element" class="box" aria-describedby="card-help"></div>
    <p id="card-help">Enter the card number, expiry date and security code.</p></div>
  <button type="submit" id="pay">Pay</button>
  <div id="status" role="status" aria-live="polite"></div>
</form>
<script>
const CONFIG = {config};
const $ = (id) => document.getElementById(id);
const stripe = Stripe(CONFIG.pk, {{stripeAccount: CONFIG.account}});
const card = stripe.elements().create('card'); card.mount('#card-element');
let REQUEST = crypto.randomUUID();
function say(text, isError) {{
  $('status').textContent = text; $('status').className = isError ? 'error' : '';
}}
function money(minor) {{
  const d = CONFIG.decimals, unit = Math.pow(10, d);
  const whole = Math.floor(minor / unit), frac = String(minor % unit).padStart(d, '0');
  return CONFIG.currency.toUpperCase() + ' ' + whole + (d ? '.' + frac : '');
}}
function chosen() {{
  const items = [];
  document.querySelectorAll('input[data-product]').forEach((input) => {{
    const q = parseInt(input.value || '0', 10);
    if (q > 0) items.push({{product_id: input.dataset.product, quantity: q}});
  }});
  return items;
}}
function total() {{
  let sum = 0;
  for (const item of chosen()) {{
    const [price, bps] = CONFIG.prices[item.product_id];
    sum += price * item.quantity + Math.floor((price * item.quantity * bps + 5000) / 10000);
  }}
  return sum;
}}
function refresh() {{ $('total').textContent = money(total()); }}
// A changed basket or way to pay is another order: it gets its own request id.
function renew() {{ REQUEST = crypto.randomUUID(); }}
document.querySelectorAll('input[data-product]').forEach((i) => i.addEventListener('input', () => {{
  renew(); refresh();
}}));
$('methods').addEventListener('change', () => {{
  renew(); $('new-card').classList.toggle('hidden', !$('method-new').checked);
}});
refresh();
async function post(path, payload) {{
  const res = await fetch(CONFIG.base + path, {{method: 'POST',
    headers: {{'Content-Type': 'application/json'}}, body: JSON.stringify(payload)}});
  let data = {{}};
  try {{ data = await res.json(); }} catch (e) {{ data = {{message: 'Something went wrong.'}}; }}
  if (!res.ok) {{
    const pid = (data.details || {{}}).product_id, name = pid && $('name-' + pid);
    const what = name ? name.firstChild.textContent.trim() + ': ' : '';
    throw new Error(what + (data.message || 'Something went wrong.'));
  }}
  return data;
}}
$('order-form').addEventListener('submit', async (e) => {{
  e.preventDefault();
  const items = chosen();
  if (!items.length) {{ say('Choose at least one item.', true); return; }}
  const method = document.querySelector('input[name=method]:checked').value;
  const button = $('pay'); button.disabled = true; say('Paying…', false);
  try {{
    let placed = await post('/orders', {{items: items, method: method, request_id: REQUEST}});
    if (placed.client_secret) {{
      const result = await stripe.confirmCardPayment(placed.client_secret,
                                                     {{payment_method: {{card: card}}}});
      if (result.error) throw new Error(result.error.message || 'The card was not accepted.');
      placed = await post('/orders/' + placed.order_id + '/confirm', {{}});
    }}
    if (placed.status !== 'paid') {{
      throw new Error(placed.message || 'The payment did not go through.');
    }}
    say('Thank you: your order ' + placed.order_id + ' of ' + money(placed.total) +
        ' is paid. Your receipt is on its way by email.', false);
    $('order-form').querySelectorAll('input, button').forEach((x) => {{ x.disabled = true; }});
    return;
  }} catch (err) {{ renew(); say(err.message, true); }}
  button.disabled = false;
}});
</script>"""
    head = _STYLE + f'<script src="{escape(stripe_js_url)}"></script>'
    return _BASE.substitute(title=f"Store · {escape(practice_name)}", head=head, body=body)
