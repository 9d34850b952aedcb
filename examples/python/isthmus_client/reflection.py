"""gRPC server reflection, asked with grpcio-reflection's own client: the
same protocol grpcurl and grpcui use to list a server's services and fetch
their descriptors, so a tool that knows nothing of Isthmus can call it.
The hub answers only over mutual TLS, for roster principals."""

from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase


def describe(channel, service="isthmus.v1.Isthmus"):
    """The services the hub lists, and the methods of `service` as resolved
    from the descriptors it serves (dependencies fetched by file name)."""
    database = ProtoReflectionDescriptorDatabase(channel)
    services = list(database.get_services())
    methods = [m.name for m in DescriptorPool(database).FindServiceByName(service).methods]
    return services, methods
