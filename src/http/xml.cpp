#include "http/xml.hpp"

namespace rsi::http::xml {

std::string_view local_name(const pugi::xml_node& node) {
  std::string_view name = node.name();
  if (const auto colon = name.rfind(':'); colon != std::string_view::npos) {
    name.remove_prefix(colon + 1);
  }
  return name;
}

pugi::xml_node child(const pugi::xml_node& parent, std::string_view name) {
  for (const pugi::xml_node& node : parent.children()) {
    if (node.type() == pugi::node_element && local_name(node) == name) {
      return node;
    }
  }
  return {};
}

std::string child_text(const pugi::xml_node& parent, std::string_view name) {
  return child(parent, name).child_value();
}

pugi::xml_node find_element(const pugi::xml_node& root, std::string_view name) {
  return root.find_node([&](const pugi::xml_node& node) {
    return node.type() == pugi::node_element && local_name(node) == name;
  });
}

pugi::xml_node document_element(const pugi::xml_document& document) {
  for (const pugi::xml_node& node : document.children()) {
    if (node.type() == pugi::node_element) {
      return node;
    }
  }
  return {};
}

} // namespace rsi::http::xml
