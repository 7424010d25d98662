from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Issue or revoke a user's API token (Authorization: Token ...). `issue` prints the "
        "token, creating one if the user has none (--rotate replaces it); `revoke` deletes it. "
        "Only staff users with permissions (the groups Backfill viewers and operators) can use "
        "the API."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["issue", "revoke"])
        parser.add_argument("username")
        parser.add_argument(
            "--rotate", action="store_true", help="issue: replace an existing token"
        )

    def handle(self, *args, action, username, rotate, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if action == "revoke":
            deleted, _ = Token.objects.filter(user=user).delete()
            self.stdout.write(f"Token of {username} revoked." if deleted else "No token.")
            return
        if not user.is_active:
            raise CommandError(f"User {username!r} is deactivated; activate it first.")
        if rotate:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        if not user.is_staff:
            self.stderr.write(f"Warning: {username} is not staff; the API will answer 403.")
        elif not any(user.has_module_perms(app) for app in ("backfill", "analytics", "snapshots")):
            self.stderr.write(
                f"Warning: {username} has no Backfill permission; the API will answer 403. Add "
                "them to the group Backfill viewers (read) or Backfill operators (read, write)."
            )
        self.stdout.write(token.key)
