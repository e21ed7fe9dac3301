"""Planning API routes (mounted under /api/ by mes/api/urls.py)."""

from django.urls import path

from planning.api import b2mml, erp

urlpatterns = [
    path("erp/orders/<str:erp_ref>/", erp.ErpOrderView.as_view(), name="erp-order"),
    path("b2mml/operations-schedule/", b2mml.OperationsScheduleView.as_view(),
         name="b2mml-operations-schedule"),
    path("b2mml/material-information/", b2mml.MaterialInformationView.as_view(),
         name="b2mml-material-information"),
    path("b2mml/equipment-information/", b2mml.EquipmentInformationView.as_view(),
         name="b2mml-equipment-information"),
]
