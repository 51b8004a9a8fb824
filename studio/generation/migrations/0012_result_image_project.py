"""Each result image gets its job's project, so that a gallery's newest images are the top
of one index (the next migration makes it required and adds the index: on PostgreSQL a
table whose rows were just updated cannot be altered in the same transaction)."""

import django.db.models.deletion
from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import OuterRef, Subquery


def copy_projects(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Job = apps.get_model("generation", "Job")
    ResultImage = apps.get_model("generation", "ResultImage")
    ResultImage.objects.update(
        project_id=Subquery(Job.objects.filter(pk=OuterRef("job_id")).values("project_id"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0011_video_and_edits"),
        ("projects", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="resultimage",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="projects.project",
            ),
        ),
        migrations.RunPython(copy_projects, migrations.RunPython.noop),
    ]
