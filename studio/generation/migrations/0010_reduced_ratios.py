"""Describe jobs stored their image's pixel size as the ratio ("512:512"): reduce every
stored ratio ("1:1"), so the gallery's aspect filter lists each shape once."""

import math

from django.db import migrations


def reduce_ratios(apps, schema_editor):
    Job = apps.get_model("generation", "Job")
    for ratio in Job.objects.values_list("aspect_ratio", flat=True).distinct():
        try:
            width, height = (int(part) for part in ratio.split(":"))
        except ValueError:
            continue
        if width <= 0 or height <= 0:
            continue
        divisor = math.gcd(width, height)
        reduced = f"{width // divisor}:{height // divisor}"
        if reduced != ratio:
            Job.objects.filter(aspect_ratio=ratio).update(aspect_ratio=reduced)


class Migration(migrations.Migration):
    dependencies = [("generation", "0009_providers")]

    operations = [migrations.RunPython(reduce_ratios, migrations.RunPython.noop)]
