from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from studio.api.services import token_create
from studio.billing.models import Price
from studio.generation.models import ResultImage, Status
from studio.inputs.services import input_image_upload
from tests.factories import make_job, make_png


@pytest.fixture
def acme_things(project: Any, alice: Any, bob: Any, vera: Any, acme: Any) -> dict[str, Any]:
    """One of everything in Acme, as the URL parameters that name them."""
    job = make_job(
        project=project,
        user=bob,
        status=Status.COMPLETED,
        output={"actions": ["upscale1", "inpaint"]},
    )
    image = ResultImage(job=job, index=0, width=512, height=512)
    image.file.save("x.png", ContentFile(make_png()), save=False)
    image.thumbnail.save("x.webp", ContentFile(make_png()), save=False)
    image.save()
    Price.objects.create(team=acme, mode="fast", operation="describe", amount=Decimal("0.01"))
    key = acme.provider_keys.first()
    uploaded = SimpleUploadedFile("ref.png", make_png(), content_type="image/png")
    input_image = input_image_upload(project=project, user=bob, uploaded_file=uploaded)
    token = token_create(user=bob, project=project, name="render farm").token
    values: dict[str, Any] = {
        "project_id": project.pk,
        "job_id": job.pk,
        "image_id": image.pk,
        "team_id": acme.pk,
        "membership_id": bob.memberships.get().pk,
        "provider": "legnext",
        "key_id": key.pk if key else 1,
        "user_id": bob.pk,
        "invite_id": 1,
        "entry_id": 1,
        "share_id": 1,
        "tag_id": 1,
        "input_id": input_image.pk,
        "operation": "animate",
        "token_id": token.pk,
        "task_id": "00000000-0000-0000-0000-000000000000",
        "signed": "not-signed",
    }
    return values
