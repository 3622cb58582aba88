"""Point the standard AWS settings at a moto server on loopback, for the AWS benchmarks.

Nothing in sparkify names an endpoint: boto3 finds this one in ``AWS_ENDPOINT_URL``, and the
credentials, region and config files set here keep a developer's own AWS set-up out of the run.
"""

from __future__ import annotations

import os


def use_loopback_aws(endpoint: str) -> None:
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
