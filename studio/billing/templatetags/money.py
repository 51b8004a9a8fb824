from decimal import Decimal
from typing import Any

from django import template

from studio.billing.services import dollars as format_dollars
from studio.billing.services import price_table, table_price
from studio.generation.models import makes_draft
from studio.providers.base import Action

register = template.Library()


@register.filter
def dollars(amount: Decimal | None) -> str:
    return "" if amount is None else format_dollars(amount)


def follow_up_price(job: Any, follow_up: str | Action) -> Decimal:
    """What a follow-up of this job costs: an action the result offers, or an operation
    by name ("seed"). The job's provider and mode, the team's prices; a reroll of a
    draft is a draft again."""
    if isinstance(follow_up, Action):
        operation, parameters = follow_up.operation, follow_up.parameters
    else:
        operation, parameters = follow_up, {}
    table = getattr(job, "price_table", None)
    if table is None:
        table = price_table(job.project.team_id)
    return table_price(
        table,
        provider=job.provider,
        mode=job.process_mode,
        operation=job.api.price_key(operation, parameters),
        draft=makes_draft(operation, job.prompt),
    )


@register.filter
def cost(follow_up: str | Action, job: Any) -> str:
    """`{{ action|cost:job }}`, `{{ "seed"|cost:job }}`: a filter, not a tag, as a card
    has fifty of them and a tag's node costs more to render."""
    return format_dollars(follow_up_price(job, follow_up))


@register.simple_tag
def price_again(job: Any) -> str:
    """What running the job again costs (its Retry): its own operation and parameters, its
    provider and mode, the team's prices today; "" if its provider has no such price now."""
    table = getattr(job, "price_table", None)
    if table is None:
        table = price_table(job.project.team_id)
    try:
        price = table_price(
            table,
            provider=job.provider,
            mode=job.process_mode,
            operation=job.api.price_key(job.operation, job.parameters or {}),
            draft=job.is_draft,
        )
    except LookupError:
        return ""
    return format_dollars(price)


@register.simple_tag
def unsettled_count(team: Any) -> int:
    """How many of the team's jobs wait for an admin to settle their unknown outcome."""
    from studio.generation.models import Job

    return Job.objects.filter(project__team=team).unsettled().count()
