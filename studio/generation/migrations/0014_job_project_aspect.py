from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0013_result_project_newest_first"),
    ]

    operations = [
        # The gallery's filter offers the aspect ratios a project used, read by skipping
        # through this index (gallery.queries.aspect_ratios_used).
        migrations.AddIndex(
            model_name="job",
            index=models.Index(fields=["project", "aspect_ratio"], name="job_project_aspect"),
        ),
    ]
