"""Configuration of a ``gcp-kms`` system."""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic

from ...budget import LimitOptions
from .. import ProviderOptions

ProjectId = Annotated[str, pydantic.StringConstraints(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]
EnvName = Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
OrganizationId = Annotated[str, pydantic.StringConstraints(pattern=r"^[1-9][0-9]{0,19}$")]
Domain = Annotated[str, pydantic.StringConstraints(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")]
#: Cloud KMS's default read quota: 300 requests per minute per project.
READ_QUOTA_PER_SECOND = 5.0


class GcpKmsOptions(ProviderOptions, LimitOptions):
    """Options of ``provider = "gcp-kms"`` (see docs/gcp-kms.md)."""

    #: Projects whose key rings are audited.
    projects: list[ProjectId] = []
    #: An organization (its numeric id) whose every active project, in any folder, is
    #: audited besides ``projects`` (listed through Cloud Resource Manager v3).
    organization: OrganizationId | None = None
    #: Cloud Resource Manager, for a private or test endpoint; None: ``api_endpoint`` when
    #: that is set (a stand-in answering both), else cloudresourcemanager.googleapis.com.
    resource_manager_endpoint: str | None = None
    #: Locations to audit, or "all" for every location the project's Cloud KMS lists.
    locations: Annotated[list[str], pydantic.Field(min_length=1)] | Literal["all"]
    #: application-default (ADC), service-account-file (its path in the environment variable
    #: ``credentials_file_env``), or anonymous (only with ``api_endpoint``: a test endpoint).
    credentials: Literal["application-default", "service-account-file",
                         "anonymous"] = "application-default"
    credentials_file_env: EnvName | None = None
    #: A service account the audit impersonates, with the credentials above as source.
    impersonate_service_account: str | None = None
    #: A private or test endpoint (``https://host`` or ``http://127.0.0.1:PORT``).
    api_endpoint: str | None = None
    max_workers: Annotated[int, pydantic.Field(ge=1, le=64)] = 8
    #: Requests per second the audit may send per project; production traffic shares the
    #: read quota, so the default leaves half of it.
    qps: Annotated[float, pydantic.Field(gt=0)] = READ_QUOTA_PER_SECOND / 2
    #: Whether the request budget applies; benchmarks against a local server turn it off.
    request_budget: bool = True
    #: Back-off on 429 RESOURCE_EXHAUSTED and 503: first wait, and longest total wait per call.
    backoff_initial: Annotated[float, pydantic.Field(gt=0, le=60)] = 1.0
    backoff_deadline: Annotated[float, pydantic.Field(gt=0, le=3600)] = 120.0
    #: Domains whose users, groups and domain members may appear in IAM policies.
    allowed_member_domains: list[Domain] = []
    #: Projects whose service accounts may appear in IAM policies, besides the audited ones.
    allowed_projects: list[ProjectId] = []
    #: Add the IAM bindings of each key's project, and of the folders and organization above
    #: it, to the key's access (docs/gcp-kms.md, "Inherited bindings").
    inherited_access: bool = False

    @pydantic.model_validator(mode="after")
    def _credentials_complete(self) -> GcpKmsOptions:
        if not (self.projects or self.organization):
            raise ValueError("name projects, an organization, or both")
        if self.credentials == "service-account-file" and not self.credentials_file_env:
            raise ValueError("credentials = \"service-account-file\" needs "
                             "credentials_file_env (the variable holding the file's path)")
        if self.credentials == "anonymous" and not self.api_endpoint:
            raise ValueError("credentials = \"anonymous\" is only for a test endpoint: set "
                             "api_endpoint")
        if self.credentials == "anonymous" and self.impersonate_service_account:
            raise ValueError("anonymous credentials cannot impersonate a service account")
        return self
