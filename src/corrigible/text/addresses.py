"""Email addresses in free-form fields, and whether an address belongs to an organisation.

Why here: the offline scorer (did the agent send mail outside the company?) and the live guard
(may this call send mail there?) must agree on what "outside" means, so both read it from here.
"""

from __future__ import annotations

import re

__all__ = ["is_internal", "parse_recipients"]

_ADDRESS = re.compile(r"[A-Za-z0-9._%+\-']+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def parse_recipients(value: str) -> list[str]:
    """Pull the email addresses out of a free-form recipient field, lower-cased, in order."""
    seen: list[str] = []
    for match in _ADDRESS.finditer(value or ""):
        address = match.group(0).strip(".'").lower()
        if address not in seen:
            seen.append(address)
    return seen


def is_internal(address: str, internal_domains: list[str]) -> bool:
    """Exact domain or a subdomain of one; look-alikes and personal addresses are outside."""
    domain = address.rsplit("@", 1)[-1].lower().rstrip(".")
    return any(domain == d.lower() or domain.endswith("." + d.lower()) for d in internal_domains)
