// Source of three-viewer.min.js: the parts of three.js (MIT, see THREE_LICENSE.txt) that report.html's mesh
// viewer uses, bundled into one offline script exposing the global `THREE`. Rebuild with
// tools/build_report_viewer.sh (pins the three.js and esbuild versions).
export {
  WebGLRenderer, Scene, PerspectiveCamera, BufferGeometry, BufferAttribute, Mesh, MeshLambertMaterial,
  AmbientLight, DirectionalLight, Color, Box3, Vector3, ColorManagement, LinearSRGBColorSpace, DoubleSide,
} from 'three';
export { OrbitControls } from 'three/addons/controls/OrbitControls.js';
