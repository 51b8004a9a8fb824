import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0012_result_image_project"),
    ]

    operations = [
        migrations.AlterField(
            model_name="resultimage",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="projects.project",
            ),
        ),
        # Every query that wants the newest images wants a project's.
        migrations.RemoveIndex(model_name="resultimage", name="result_newest_first"),
        migrations.AddIndex(
            model_name="resultimage",
            index=models.Index(
                fields=["project", "-created_at", "-id"], name="result_project_newest_first"
            ),
        ),
    ]
