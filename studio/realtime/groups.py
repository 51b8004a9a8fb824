"""Channel-layer groups and pushing HTML fragments to them.

A pushed fragment goes to everyone in the group, so it must not depend on who looks.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def push_html(group: str, html: str) -> None:
    """Send an HTML fragment to every browser in `group` (swapped in by htmx's ws
    extension, by element id)."""
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(group, {"type": "html.push", "html": html})
