"""Portal sign-in links move to accounts.SignInLink (scope "portal"), which the staff sign-in
links share. Every link row is carried over; rows without a token were only counted requests
for addresses without access (the rate limit now counts in accounts' throttle buckets), so
they are not links and are left behind."""

from django.db import migrations


def carry_links_over(apps, schema_editor):  # type: ignore[no-untyped-def]
    OldLink = apps.get_model("portal", "SignInLink")
    NewLink = apps.get_model("accounts", "SignInLink")
    links = OldLink.objects.filter(user__isnull=False, token_hash__isnull=False)
    NewLink.objects.bulk_create(
        [
            NewLink(
                user_id=old.user_id,
                scope="portal",
                email=old.email,
                token_hash=old.token_hash,
                ip_address=old.ip_address,
                created_at=old.created_at,
                expires_at=old.expires_at,
                used_at=old.used_at,
            )
            for old in links.iterator()
        ],
        batch_size=1000,
    )


def carry_links_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    OldLink = apps.get_model("portal", "SignInLink")
    NewLink = apps.get_model("accounts", "SignInLink")
    OldLink.objects.bulk_create(
        [
            OldLink(
                user_id=new.user_id,
                email=new.email,
                token_hash=new.token_hash,
                ip_address=new.ip_address,
                created_at=new.created_at,
                expires_at=new.expires_at,
                used_at=new.used_at,
            )
            for new in NewLink.objects.filter(scope="portal").iterator()
        ],
        batch_size=1000,
    )
    NewLink.objects.filter(scope="portal").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_job_seen"),
        ("accounts", "0002_sign_in_links_throttle_sign_ups"),
    ]

    operations = [
        migrations.RunPython(carry_links_over, carry_links_back),
        migrations.DeleteModel(name="SignInLink"),
    ]
