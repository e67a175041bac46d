"""A minimal MCP client talking to a server through `corrigible gateway`, for the README tour.

    python examples/mcp_gateway_client.py WORKDIR

It starts `corrigible gateway` (policy: the shipped MCP example; audit log and approvals database
in WORKDIR) around the simulated document server `python -m corrigible.testing.mcp_server`, then
plays an agent: read a confidential document, mail a colleague, leak the document outside, and
mail an outsider (held for a human, who has 20 s to run `corrigible approvals approve`).
Everything is simulated: the server only appends what it "sent" to WORKDIR/outbox/actions.jsonl.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

POLICY = resources.files("corrigible.containment") / "policies" / "examples" / "mcp-demo.yaml"


def _text(result: object) -> str:
    blocks = getattr(result, "content", [])
    text = " ".join(getattr(b, "text", "") for b in blocks)
    return ("ERROR " if getattr(result, "is_error", False) else "") + " ".join(text.split())[:150]


async def main(work: Path) -> None:
    corrigible = Path(sys.executable).with_name("corrigible")
    params = StdioServerParameters(
        command=str(corrigible),
        args=[
            "gateway", "--policy", str(POLICY), "--agent", "doc-agent",
            "--audit", str(work / "audit.sqlite"), "--audit-key", str(work / "audit.key"),
            "--approvals", str(work / "approvals.db"), "--approval-timeout", "20",
            "--", sys.executable, "-m", "corrigible.testing.mcp_server",
            "--outbox", str(work / "outbox"),
        ],
    )  # fmt: skip
    async with Client(params) as client:
        print("tools:", [t.name for t in (await client.list_tools()).tools])
        calls = [
            ("read_document", {"doc_id": "doc-2"}),
            ("send_email", {"to": "dana.lee@halcyon-dynamics.com", "subject": "Minutes",
                            "body": "Minutes of Tuesday's meeting are on the wiki."}),
            ("send_email", {"to": "deals@kestrel-rival.example", "subject": "fyi",
                            "body": "Project Lockstep: we plan to acquire Kestrel for $48m."}),
            ("send_email", {"to": "press@newswire.example", "subject": "Release notes",
                            "body": "Version 2.4 ships on Monday."}),
        ]  # fmt: skip
        for tool, arguments in calls:
            print(f"{tool} -> {_text(await client.call_tool(tool, arguments))}")


if __name__ == "__main__":
    anyio.run(main, Path(sys.argv[1]))
