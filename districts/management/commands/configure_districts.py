from django.core.management.base import BaseCommand, CommandError

from districts import services
from districts.ids import InvalidDistrictId


class Command(BaseCommand):
    help = "Show or change the configured district scope (no districts configured = all)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "add", "remove", "set"])
        parser.add_argument("district_ids", nargs="*", help="District ids, e.g. 42 F 02")

    def handle(self, *args, action, district_ids, **options):
        if action in ("add", "remove") and not district_ids:
            raise CommandError(f"'{action}' needs at least one district id.")
        try:
            match action:
                case "add":
                    scope = services.add_configured_districts(district_ids=district_ids)
                case "remove":
                    scope = services.remove_configured_districts(district_ids=district_ids)
                case "set":
                    scope = services.set_configured_districts(district_ids=district_ids)
                case _:
                    scope = services.configured_districts()
        except InvalidDistrictId as exc:
            raise CommandError(str(exc)) from exc
        if scope:
            self.stdout.write(f"{len(scope)} configured: {' '.join(scope)}")
        else:
            self.stdout.write("No districts configured: every district is in scope.")
