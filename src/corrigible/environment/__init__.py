"""The simulated world an agent acts in, its tools, and the text tool-protocol parser.

Simulated tools have no real side effects: no network, no real mail, no files.
"""

from corrigible.environment.protocol import (
    ToolBlock,
    format_tool_block,
    parse_tool_blocks,
    scratchpad_spans,
    strip_scratchpad,
)
from corrigible.environment.world import (
    Action,
    Alert,
    Environment,
    SentEmail,
)
from corrigible.text.addresses import parse_recipients

__all__ = [
    "Action",
    "Alert",
    "Environment",
    "SentEmail",
    "ToolBlock",
    "format_tool_block",
    "parse_recipients",
    "parse_tool_blocks",
    "scratchpad_spans",
    "strip_scratchpad",
]
