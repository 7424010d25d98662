"""The error answers the staff APIs (jobs, analytics) state in the schema."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


AUTH_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="No or bad credentials."),
    403: OpenApiResponse(ErrorSerializer, description="Not staff (or CSRF failed)."),
}
BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT, description='Each bad field with its messages: {"startDate": ["..."]}.'
)
