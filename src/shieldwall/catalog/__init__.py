"""The packaged notional catalog: typed records, the YAML loader with sources, table rows."""

from shieldwall.catalog.loader import (
    CONFIDENCE_LEVELS,
    CatalogError,
    load_catalog,
    parse_catalog,
    parse_catalog_text,
)
from shieldwall.catalog.radar_budget import (
    CALIBRATION_RCS_M2,
    CALIBRATION_SNR_DB,
    reference_detection_range_m,
    reference_snr_db,
)
from shieldwall.catalog.table import CatalogRow, catalog_table_rows
from shieldwall.catalog.types import (
    AirDefenseSystem,
    Catalog,
    Envelope,
    Interceptor,
    Radar,
    ThreatType,
)

__all__ = [
    "CALIBRATION_RCS_M2",
    "CALIBRATION_SNR_DB",
    "CONFIDENCE_LEVELS",
    "AirDefenseSystem",
    "Catalog",
    "CatalogError",
    "CatalogRow",
    "Envelope",
    "Interceptor",
    "Radar",
    "ThreatType",
    "catalog_table_rows",
    "load_catalog",
    "parse_catalog",
    "parse_catalog_text",
    "reference_detection_range_m",
    "reference_snr_db",
]
