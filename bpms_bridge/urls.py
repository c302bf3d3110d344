app_name = "bpms_bridge"

urlpatterns: list = []
