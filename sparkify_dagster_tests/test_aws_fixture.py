"""The loopback AWS stand-in answers real boto3 clients configured only by the environment."""

from __future__ import annotations

import boto3


def test_boto3_reaches_the_loopback_server(aws: str) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="probe", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]] == ["probe"]
    assert s3.meta.endpoint_url == aws
