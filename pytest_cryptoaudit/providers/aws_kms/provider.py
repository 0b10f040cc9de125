"""The ``aws-kms`` provider: KMS keys of one or more accounts and regions."""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import Discovery, DiscoveryContext, Provider
from .discovery import FETCHES, NOT_FETCHED, KmsDiscovery
from .independence import auditor_names
from .options import POLICY_SETTINGS, AwsKmsOptions


class AwsKmsProvider(Provider):
    """Discovers AWS KMS keys (customer-managed unless ``include_aws_managed``) with their
    rotation, policy, grants and tags, and the CloudTrail trails of each audited region."""

    name = "aws-kms"
    component = "kms"
    Options = AwsKmsOptions
    policy_settings = POLICY_SETTINGS
    fetches = FETCHES

    def discover(self, system: Any, context: DiscoveryContext) -> Discovery:
        options: AwsKmsOptions = system.options
        run = KmsDiscovery(options, context)
        run.run(system.name)
        run.add_iam_holders()
        accounts = sorted(run.audited, key=lambda account: account.account_id)
        attributes: dict[str, Any] = {
            "accounts": [account.account_id for account in accounts],
            "regions": sorted({region for _, region in run.scopes}),
            "auditor_identity": {a.account_id: a.caller_arn for a in accounts},
            "auditor_names": auditor_names({a.account_id: a.caller_arn for a in accounts}),
            "allowed_principal_accounts": sorted(options.allowed_principal_accounts),
            "aws_managed_keys_skipped": run.skipped_aws_managed,
            "key_stores": run.key_stores(),
        }
        unreadable = {}
        rights = run.auditor_facts()
        if "unreadable" in rights:
            unreadable["auditor_admin_rights"] = rights["unreadable"]
        else:
            attributes.update(rights)
        decrypting = run.decrypt_facts()
        if "unreadable" in decrypting:
            unreadable["iam_decrypt_all_keys"] = decrypting["unreadable"]
        else:
            attributes.update(decrypting)
        if run.plan.trails:
            attributes.update(run.trails.attributes())
        else:
            unreadable["cloudtrail_regions"] = NOT_FETCHED
        attempt = self.new_discovery(system, **attributes)
        attempt.system = dataclasses.replace(attempt.system, unreadable=unreadable)
        return run.to_discovery(attempt)
