from decimal import Decimal
from typing import Any

from django import template

from studio.billing.services import dollars as format_dollars
from studio.billing.services import price_table, table_price

register = template.Library()


@register.filter
def dollars(amount: Decimal | None) -> str:
    return "" if amount is None else format_dollars(amount)


@register.simple_tag
def cost(job: Any, operation: str) -> str:
    """What a follow-up of this job costs (the job's mode, the team's prices)."""
    table = getattr(job, "price_table", None) or price_table(job.project.team_id)
    return format_dollars(table_price(table, job.process_mode, operation))


@register.simple_tag
def follow_up_prices(job: Any, actions: Any) -> str:
    """What the job's follow-ups cost, truly: "Follow-ups $0.05", or a range when their
    prices differ ("Follow-ups $0.02–$0.10"); each button's tooltip has its own."""
    table = getattr(job, "price_table", None) or price_table(job.project.team_id)
    prices = {table_price(table, job.process_mode, action.operation) for action in actions}
    if not prices:
        return ""
    low, high = min(prices), max(prices)
    if low == high:
        return f"Each follow-up {format_dollars(low)}"
    return f"Follow-ups {format_dollars(low)}–{format_dollars(high)}"


@register.simple_tag
def unsettled_count(team: Any) -> int:
    """How many of the team's jobs wait for an admin to settle their unknown outcome."""
    from studio.generation.models import Job

    return Job.objects.filter(project__team=team).unsettled().count()
