"""Audits: monotonicity and Lipschitz verification of any model."""

from robusthep.audit.verify import VerificationReport, verify

__all__ = ["VerificationReport", "verify"]
