"""Reading Prometheus's text format in tests: one sample's value by name and labels."""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """One scrape of a /metrics page (or registry)."""

    def __init__(self, text: str) -> None:
        self.samples = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    @classmethod
    def of(cls, registry: CollectorRegistry) -> "Scrape":
        return cls(generate_latest(registry).decode())

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels (`le` included for buckets); 0 when absent."""
        for sample in self.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
        return 0.0

    def label_values(self, name: str, label: str) -> set[str]:
        return {s.labels[label] for s in self.samples if s.name == name and label in s.labels}
