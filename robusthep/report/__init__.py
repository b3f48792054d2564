"""Reports: run folders, results with units, figures and the HTML page."""

from robusthep.report.figures import figure
from robusthep.report.page import Section, format_quantity, write_report
from robusthep.report.quantity import DIMENSIONLESS, check_results, iter_quantities, quantity
from robusthep.report.run_folder import RunFolder, default_run_path
from robusthep.report.toml import dumps_toml

__all__ = [
    "DIMENSIONLESS",
    "RunFolder",
    "Section",
    "check_results",
    "default_run_path",
    "dumps_toml",
    "figure",
    "format_quantity",
    "iter_quantities",
    "quantity",
    "write_report",
]
