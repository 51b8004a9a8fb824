"""A job's family as a tree: lineage (root → … → job) and descendants, from one query."""

from dataclasses import dataclass, field

from studio.generation.models import Job


@dataclass
class Node:
    job: Job
    children: list["Node"] = field(default_factory=list)


@dataclass
class Family:
    root: Node
    lineage: list[Job]  # from the root to the job asked about, both included
    size: int


def family_of(job: Job) -> Family:
    """The whole family of `job`, with thumbnails and authors loaded in a fixed number of
    queries whatever its size."""
    jobs = list(
        Job.objects.family_of(job)
        .select_related("created_by")
        .prefetch_related("images")
        .order_by("created_at", "pk")
    )
    nodes = {member.pk: Node(member) for member in jobs}
    root = nodes.get(job.root_id or job.pk) or Node(job)
    for member in jobs:
        if member.parent_id in nodes and member.pk != root.job.pk:
            nodes[member.parent_id].children.append(nodes[member.pk])
    lineage: list[Job] = []
    current: Job | None = nodes[job.pk].job if job.pk in nodes else job
    while current is not None:
        lineage.append(current)
        parent = nodes.get(current.parent_id) if current.parent_id else None
        current = parent.job if parent else None
    return Family(root=root, lineage=lineage[::-1], size=len(jobs))
