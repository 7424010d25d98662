"""Per-district unit counts kept by PostgreSQL triggers (see `backfill.models.UnitCount`).

Statement-level triggers with transition tables: a COPY of 50,000 units or a bulk UPDATE fires
each once and applies one grouped delta, so the writers in `backfill.services` stay as they are.
An UPDATE that does not change a unit's job, district or status (attempts, timings) nets to
nothing and touches no counter row.
"""

import django.db.models.deletion
from django.db import migrations, models


TABLE = "backfill_backfillunit"
COUNTS = "backfill_unitcount"

INSTALL = f"""
INSERT INTO {COUNTS} (job_id, district_id, status, count)
SELECT job_id, district_id, status, count(*) FROM {TABLE} GROUP BY 1, 2, 3;

CREATE FUNCTION backfill_unit_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNTS} AS c (job_id, district_id, status, count)
    SELECT job_id, district_id, status, count(*) FROM new_rows GROUP BY 1, 2, 3
    ON CONFLICT (job_id, district_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
    RETURN NULL;
END $$;

CREATE FUNCTION backfill_unit_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNTS} AS c (job_id, district_id, status, count)
    SELECT job_id, district_id, status, sum(n) FROM (
        SELECT job_id, district_id, status, count(*) AS n FROM new_rows GROUP BY 1, 2, 3
        UNION ALL
        SELECT job_id, district_id, status, -count(*) FROM old_rows GROUP BY 1, 2, 3
    ) AS delta
    GROUP BY 1, 2, 3 HAVING sum(n) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (job_id, district_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
    RETURN NULL;
END $$;

-- Only existing counters are lowered: a job being deleted may have lost its counters already.
CREATE FUNCTION backfill_unit_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNTS} AS c SET count = c.count - d.n
    FROM (SELECT job_id, district_id, status, count(*) AS n FROM old_rows GROUP BY 1, 2, 3) AS d
    WHERE c.job_id = d.job_id AND c.district_id = d.district_id AND c.status = d.status;
    RETURN NULL;
END $$;

CREATE TRIGGER backfill_unit_counts_insert AFTER INSERT ON {TABLE}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION backfill_unit_counts_insert();
CREATE TRIGGER backfill_unit_counts_update AFTER UPDATE ON {TABLE}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION backfill_unit_counts_update();
CREATE TRIGGER backfill_unit_counts_delete AFTER DELETE ON {TABLE}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION backfill_unit_counts_delete();
"""

UNINSTALL = f"""
DROP TRIGGER IF EXISTS backfill_unit_counts_insert ON {TABLE};
DROP TRIGGER IF EXISTS backfill_unit_counts_update ON {TABLE};
DROP TRIGGER IF EXISTS backfill_unit_counts_delete ON {TABLE};
DROP FUNCTION IF EXISTS backfill_unit_counts_insert();
DROP FUNCTION IF EXISTS backfill_unit_counts_update();
DROP FUNCTION IF EXISTS backfill_unit_counts_delete();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL)


class Migration(migrations.Migration):

    dependencies = [
        ('backfill', '0006_job_paused'),
    ]

    operations = [
        migrations.CreateModel(
            name='UnitCount',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('district_id', models.CharField(max_length=8)),
                ('status', models.CharField(max_length=12)),
                ('count', models.IntegerField(default=0)),
                ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='unit_counts', to='backfill.backfilljob')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('job', 'district_id', 'status'), name='unique_unit_count')],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
