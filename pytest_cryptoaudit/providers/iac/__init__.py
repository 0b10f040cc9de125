"""Infrastructure code: the keys and endpoints a change declares, judged before it lands.

``terraform`` reads Terraform/OpenTofu modules (and their plan JSON), ``cloudformation``
reads templates and ``kubernetes`` reads manifests. Each turns what it reads into the same
records the live providers make (managed-key facts, endpoints, certificates), so the same
controls judge planned and live keys; each record is located at its file and line.
"""
