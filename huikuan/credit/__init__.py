"""Credit management: policy and grades, profiles, scoring, exposure, credit checks, holds, approvals."""
