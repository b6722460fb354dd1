from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_search_entry"),
    ]

    operations = [
        migrations.CreateModel(
            name="WorkerHeartbeat",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=200, unique=True, verbose_name="name")),
                ("hostname", models.CharField(max_length=150, verbose_name="host")),
                ("pid", models.PositiveIntegerField(verbose_name="process id")),
                (
                    "embedded",
                    models.BooleanField(default=False, verbose_name="embedded in kreis serve"),
                ),
                ("started_at", models.DateTimeField(verbose_name="started")),
                ("beat_at", models.DateTimeField(db_index=True, verbose_name="last heartbeat")),
                (
                    "stopped_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="stopped"),
                ),
            ],
            options={
                "verbose_name": "job worker",
                "verbose_name_plural": "job workers",
                "ordering": ["-beat_at"],
            },
        ),
    ]
