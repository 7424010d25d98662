from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    """The dashboard simulator and the demo: used by the demo, the tests and the benches; no
    production module imports it."""

    name = "simulator"
    verbose_name = "Dashboard simulator"
