"""Who sent a webhook: each system's own signing rule, compared in constant time.

- Shopify: `X-Shopify-Hmac-Sha256` is base64(HMAC-SHA256(secret, raw body)).
- WooCommerce: `X-WC-Webhook-Signature` is base64(HMAC-SHA256(secret, raw body)), the secret
  being the one typed into WooCommerce → Settings → Advanced → Webhooks.
- RetailCRM triggers cannot sign; they can put a token in a header or in the URL's query.
The raw bytes are what was signed: a body parsed and serialised again would not match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def hmac_base64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _same(expected: str, given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def shopify_valid(secret: str, body: bytes, header: str | None) -> bool:
    return bool(secret) and _same(hmac_base64(secret, body), header)


def woocommerce_valid(secret: str, body: bytes, header: str | None) -> bool:
    return bool(secret) and _same(hmac_base64(secret, body), header)


def token_valid(expected: str, given: str | None) -> bool:
    return bool(expected) and _same(expected, given)


def bearer(header: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>`, else None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
